// Package completion decides when an upload job is complete and tells the app.
//
// A job whose upload left extensions or post-transformations pending is "uploaded";
// ImageKit reports each item's final status by webhook later. Completion merges those
// statuses into the job (commutatively: order and duplicates do not matter), marks
// the job completed when nothing is pending, marks items still pending at a deadline
// as unknown, and queues the signed callback to the app's callbackUrl when a job ends.
package completion
