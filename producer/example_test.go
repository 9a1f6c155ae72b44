package producer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// A web app queues an upload and answers its user at once; the job's id is what it
// keeps to follow the upload. (No Output: it needs a Redis at REDIS_URL.)
func ExampleClient_Enqueue() {
	ctx := context.Background()
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	job, err := p.Enqueue(ctx, tasks.Upload{
		File:           "https://example.com/photos/summer.jpg",
		FileName:       "summer.jpg",
		Folder:         "/products",
		Tags:           tasks.StringList{"summer", "beach"},
		IdempotencyKey: "order-1234-photo-1", // a retried request returns the same job
	})
	var invalid *tasks.ValidationError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			fmt.Printf("%s: %s\n", p.Field, p.Message) // answer 400 with these
		}
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("queued", job.ID)

	// Later: follow it.
	job, err = p.Get(ctx, job.ID)
	if errors.Is(err, jobstore.ErrNotFound) {
		fmt.Println("expired or never existed")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status)
}
