;; expect: memory
;; Grows memory a page at a time and traps when refused, as a Rust program's
;; allocator does.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $grow
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
        (then unreachable))
      (br $grow))))
