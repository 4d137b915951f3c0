;; expect: bad_module
;; message: not valid WebAssembly
this is not a module (
