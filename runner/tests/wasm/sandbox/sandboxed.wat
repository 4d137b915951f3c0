;; expect: exit 0
;; The module sees exactly one argument (its name), no environment variables and no
;; preopened directory (fd 3 is not a preopen: EBADF = 8). Exits 1 otherwise.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $args (i32.const 0) (i32.const 4)))
    (drop (call $env (i32.const 8) (i32.const 12)))
    (if (i32.ne (i32.load (i32.const 0)) (i32.const 1)) (then (call $proc_exit (i32.const 1))))
    (if (i32.ne (i32.load (i32.const 8)) (i32.const 0)) (then (call $proc_exit (i32.const 1))))
    (if (i32.ne (call $prestat (i32.const 3) (i32.const 16)) (i32.const 8))
      (then (call $proc_exit (i32.const 1))))))
