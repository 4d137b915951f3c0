;; expect: memory
;; Asks for 128 MiB of memory up front: refused at instantiation.
(module
  (memory (export "memory") 2048)
  (func (export "_start")))
