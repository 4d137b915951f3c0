;; expect: bad_module
;; message: _start
;; A library, not a command.
(module
  (memory (export "memory") 1)
  (func (export "judge") (result i32) (i32.const 0)))
