;; expect: trap
;; message: unreachable
;; A crash (what a Rust panic compiles to).
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
