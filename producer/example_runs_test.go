package producer_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// Jobs that name a run form it: its counts by status are always those of its jobs,
// and an unknown run is ErrRunNotFound (which is also ErrNotFound).
func ExampleClient_Run() {
	ctx := context.Background()
	rdb, release := exampleRedis()
	defer release()
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	for _, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		if _, err := p.Enqueue(ctx, tasks.Upload{File: "https://example.com/" + name, FileName: name, Run: "import-42"}); err != nil {
			log.Fatal(err)
		}
	}
	run, err := p.Run(ctx, "import-42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.ID, run.Total, run.Counts.Queued, run.Done)

	// Once a worker has ended them, p.RetryRun(ctx, "import-42", producer.RetryRunOptions{})
	// queues the failed ones again.
	_, err = p.Run(ctx, "import-43")
	fmt.Println(errors.Is(err, producer.ErrRunNotFound), errors.Is(err, producer.ErrNotFound))
	// Output:
	// import-42 3 3 false
	// true true
}
