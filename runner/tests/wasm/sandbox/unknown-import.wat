;; expect: bad_module
;; message: env
;; Imports something the sandbox does not provide.
(module
  (import "env" "open_socket" (func $open (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $open))))
