// Package bulk moves many files into ImageKit as upload jobs: it walks a folder or
// reads a manifest as a stream, gives each item a destination derived from its
// source, enqueues the jobs in batches and, when asked, follows them to their end,
// writing each result as it comes.
//
// Memory grows with the concurrency and the number of jobs followed at once, never
// with the number of items. ImageKit is the ledger: every job asks the files API what
// is at its destination (ifExists, skip by default), so a run repeated after Redis
// lost its records, or after the files were touched, uploads only what changed.
//
// The command layer supplies the queue (Jobs) and the sinks:
//
//	err := bulk.Run(ctx, bulk.Options{
//		Source: "./photos", Folder: "/imports",
//		Jobs:   jobs, // enqueues and reads jobs, e.g. through the producer
//		Wait:   true, Results: resultsFile, ResultsFormat: bulk.FormatCSV,
//		Stdout: os.Stdout, Stderr: os.Stderr,
//	})
package bulk
