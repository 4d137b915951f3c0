;; expect: deadline
;; limits: fuel=100000000000 deadline_ms=200
;; An infinite loop with fuel to spare: the epoch deadline stops it.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))
