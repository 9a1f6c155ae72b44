// Package e2e starts ikq's whole pipeline for a test, on loopback and in one
// process, as `ikq dev` runs it: a Redis database of its own (redistest), the
// emulator as ImageKit over real HTTP, a producer, optionally the API (producer REST
// API and webhook receiver, wired as `ikq api` wires them), and workers.
//
//	s := e2e.New(t, e2e.Config{})
//	w := s.StartWorker(worker.Config{Concurrency: 4}) // stopped at cleanup
//	job := s.Enqueue(tasks.Upload{File: src.URL, FileName: "a.png"})
//	s.WaitStatus(job.ID, tasks.StatusCompleted)
//
// Everything the stack starts stops at the test's cleanup, and the logs of the
// stack are shown when the test fails.
package e2e
