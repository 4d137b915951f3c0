;; expect: out_of_fuel
;; An infinite loop: fuel runs out long before the deadline.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))
