;; The kubeadm-upgrade lesson's order check, hand-written in the WebAssembly text
;; format. It is the equivalent of the Rust crate checks-wasm/upgrade-order (same
;; rules, same messages, tested against the same cases), written by hand because this
;; machine's Rust toolchain has no wasm32-wasip1 target; see checks-wasm/README.md.
;;
;; A WASI preview-1 command. Input on stdin: playlab's WASM check input,
;; {"probes":[...],"transcript":[{"node","at","line"}],"step":N}. It judges the
;; command lines the learner typed, in order:
;;   1. no `kubeadm upgrade node` (a worker's upgrade) before the first
;;      `kubeadm upgrade apply` (the control plane's);
;;   2. `kubeadm upgrade apply` ran;
;;   3. an `etcdctl ... snapshot save` ran before it;
;;   4. `kubeadm upgrade node` ran after it on another node (the worker).
;; Lines containing `--dry-run` are ignored. Prints one line and exits 0 when all
;; hold, 1 otherwise, 2 on unreadable input.
;;
;; Unlike the Rust version it does not parse JSON in general: it relies on the compact
;; form playlab writes (serde_json, fields in the order node, at, line, no spaces) and
;; matches the raw, still-escaped strings. That is exact for this input: the patterns
;; hold no character JSON escapes, and transcript lines hold no control characters
;; (playlab's line assembler drops them), so a pattern occurs in a raw line exactly
;; when it occurs in the decoded one, and `"node":"` or `"line":"` can never occur
;; inside a string value (its quotes would be escaped).
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; Bytes 0..16: an iovec and a byte count for WASI calls.
  ;; Patterns (address, length):
  (data (i32.const 256) "\"transcript\":[")          ;; 14
  (data (i32.const 288) "\"node\":\"")                ;; 8
  (data (i32.const 304) "\"line\":\"")                ;; 8
  (data (i32.const 320) "--dry-run")                  ;; 9
  (data (i32.const 336) "etcdctl")                    ;; 7
  (data (i32.const 352) "snapshot save")              ;; 13
  (data (i32.const 368) "kubeadm upgrade apply")      ;; 21
  (data (i32.const 400) "kubeadm upgrade node")       ;; 20
  ;; Messages, newline included:
  (data (i32.const 512) "a worker was upgraded (kubeadm upgrade node) before the control plane (kubeadm upgrade apply)\n") ;; 94
  (data (i32.const 640) "kubeadm upgrade apply has not run on the control plane yet\n") ;; 59
  (data (i32.const 768) "kubeadm upgrade apply ran before any etcd backup: run etcdctl snapshot save first\n") ;; 82
  (data (i32.const 896) "the control plane is upgraded; now upgrade the worker with kubeadm upgrade node\n") ;; 80
  (data (i32.const 1024) "etcd was backed up, then the control plane upgraded, then the worker\n") ;; 69
  (data (i32.const 1152) "upgrade-order: cannot read the check input\n") ;; 43

  ;; The input is read to here and after; memory grows as it arrives.
  (global $BUF i32 (i32.const 65536))

  ;; Writes $len bytes at $ptr to stdout.
  (func $say (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $verdict (param $ptr i32) (param $len i32) (param $code i32)
    (call $say (local.get $ptr) (local.get $len))
    (call $proc_exit (local.get $code)))

  (func $bad_input
    (call $verdict (i32.const 1152) (i32.const 43) (i32.const 2)))

  ;; Reads all of stdin to $BUF; returns where it ends.
  (func $read_all (result i32)
    (local $end i32)
    (local.set $end (global.get $BUF))
    (loop $more
      ;; Keep 64 KiB free after $end for the next read.
      (if (i32.gt_u (i32.add (local.get $end) (i32.const 65536))
                    (i32.mul (memory.size) (i32.const 65536)))
        (then
          (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
            (then (call $bad_input)))))
      (i32.store (i32.const 0) (local.get $end))
      (i32.store (i32.const 4) (i32.const 65536))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $bad_input)))
      (if (i32.load (i32.const 8))
        (then
          (local.set $end (i32.add (local.get $end) (i32.load (i32.const 8))))
          (br $more))))
    (local.get $end))

  ;; The first position at or after $from where the $len bytes at $pat occur, ending
  ;; at or before $to; -1 if there is none. The inner loop only looks for the first
  ;; byte: that keeps a scan over long lines within the sandbox's fuel.
  (func $find (param $from i32) (param $to i32) (param $pat i32) (param $len i32) (result i32)
    (local $i i32)
    (local $j i32)
    (local $first i32)
    (local $last i32)
    (if (i32.eqz (local.get $len))
      (then (return (local.get $from))))
    (if (i32.gt_u (i32.add (local.get $from) (local.get $len)) (local.get $to))
      (then (return (i32.const -1))))
    (local.set $first (i32.load8_u (local.get $pat)))
    (local.set $last (i32.sub (local.get $to) (local.get $len)))
    (local.set $i (local.get $from))
    (loop $scan
      (if (i32.eq (i32.load8_u (local.get $i)) (local.get $first))
        (then
          (local.set $j (i32.const 1))
          (block $mismatch
            (loop $compare
              (if (i32.eq (local.get $j) (local.get $len))
                (then (return (local.get $i))))
              (br_if $mismatch
                (i32.ne (i32.load8_u (i32.add (local.get $i) (local.get $j)))
                        (i32.load8_u (i32.add (local.get $pat) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $compare)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $scan (i32.le_u (local.get $i) (local.get $last))))
    (i32.const -1))

  ;; 1 if the pattern occurs in [$from, $to), else 0.
  (func $has (param $from i32) (param $to i32) (param $pat i32) (param $len i32) (result i32)
    (i32.ge_s (call $find (local.get $from) (local.get $to) (local.get $pat) (local.get $len))
              (i32.const 0)))

  ;; 1 if the two byte strings are equal.
  (func $same (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (if (i32.ne (local.get $alen) (local.get $blen))
      (then (return (i32.const 0))))
    (i32.eq (call $find (local.get $a) (i32.add (local.get $a) (local.get $alen))
                        (local.get $b) (local.get $blen))
            (local.get $a)))

  ;; Given the first byte of a JSON string's contents, the position of its closing
  ;; quote (escaped characters are skipped); $to when it is unterminated.
  (func $string_end (param $p i32) (param $to i32) (result i32)
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $p) (local.get $to)))
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 34)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 92))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (if (result i32) (i32.gt_u (local.get $p) (local.get $to))
      (then (local.get $to))
      (else (local.get $p))))

  (func (export "_start")
    (local $end i32)
    (local $p i32)
    ;; the current entry's node and line: start and end of the raw contents
    (local $node i32)
    (local $node_end i32)
    (local $line i32)
    (local $line_end i32)
    ;; what has been seen so far
    (local $snapshot i32)
    (local $apply i32)
    (local $backed_up i32)
    (local $apply_node i32)
    (local $apply_node_len i32)
    (local $worker_early i32)
    (local $worker_done i32)

    (local.set $end (call $read_all))
    ;; Entries are read only after the transcript key, so probe output never counts.
    (local.set $p (call $find (global.get $BUF) (local.get $end) (i32.const 256) (i32.const 14)))
    (if (i32.lt_s (local.get $p) (i32.const 0))
      (then (call $bad_input)))

    (block $entries_done
      (loop $entry
        (local.set $node (call $find (local.get $p) (local.get $end) (i32.const 288) (i32.const 8)))
        (br_if $entries_done (i32.lt_s (local.get $node) (i32.const 0)))
        (local.set $node (i32.add (local.get $node) (i32.const 8)))
        (local.set $node_end (call $string_end (local.get $node) (local.get $end)))
        (local.set $line (call $find (local.get $node_end) (local.get $end) (i32.const 304) (i32.const 8)))
        (br_if $entries_done (i32.lt_s (local.get $line) (i32.const 0)))
        (local.set $line (i32.add (local.get $line) (i32.const 8)))
        (local.set $line_end (call $string_end (local.get $line) (local.get $end)))
        (local.set $p (local.get $line_end))

        (if (i32.eqz (call $has (local.get $line) (local.get $line_end) (i32.const 320) (i32.const 9)))
          (then
            ;; etcdctl ... snapshot save
            (if (i32.and (call $has (local.get $line) (local.get $line_end) (i32.const 336) (i32.const 7))
                         (call $has (local.get $line) (local.get $line_end) (i32.const 352) (i32.const 13)))
              (then (local.set $snapshot (i32.const 1))))
            ;; the first kubeadm upgrade apply
            (if (i32.and (call $has (local.get $line) (local.get $line_end) (i32.const 368) (i32.const 21))
                         (i32.eqz (local.get $apply)))
              (then
                (local.set $apply (i32.const 1))
                (local.set $backed_up (local.get $snapshot))
                (local.set $apply_node (local.get $node))
                (local.set $apply_node_len (i32.sub (local.get $node_end) (local.get $node)))))
            ;; kubeadm upgrade node
            (if (call $has (local.get $line) (local.get $line_end) (i32.const 400) (i32.const 20))
              (then
                (if (i32.eqz (local.get $apply))
                  (then (local.set $worker_early (i32.const 1)))
                  (else
                    (if (i32.eqz (call $same (local.get $apply_node) (local.get $apply_node_len)
                                             (local.get $node)
                                             (i32.sub (local.get $node_end) (local.get $node))))
                      (then (local.set $worker_done (i32.const 1))))))))))
        (br $entry)))

    (if (local.get $worker_early)
      (then (call $verdict (i32.const 512) (i32.const 94) (i32.const 1))))
    (if (i32.eqz (local.get $apply))
      (then (call $verdict (i32.const 640) (i32.const 59) (i32.const 1))))
    (if (i32.eqz (local.get $backed_up))
      (then (call $verdict (i32.const 768) (i32.const 82) (i32.const 1))))
    (if (i32.eqz (local.get $worker_done))
      (then (call $verdict (i32.const 896) (i32.const 80) (i32.const 1))))
    (call $verdict (i32.const 1024) (i32.const 69) (i32.const 0))))
