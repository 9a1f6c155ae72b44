package jobstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
)

func Example() {
	mr, err := miniredis.Run() // tests use redistest.New(t); any Redis works
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer func() { _ = rdb.Close() }()
	ctx := context.Background()
	store := jobstore.New(rdb, jobstore.Options{
		Now: func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) },
	})

	job, _, err := store.Create(ctx, &jobstore.Job{
		Queue: "default", MaxAttempts: 5, IdempotencyKey: "order-42",
		Request: json.RawMessage(`{"file":"https://example.com/cat.jpg","fileName":"cat.jpg"}`),
	}, nil)
	if err != nil {
		panic(err)
	}
	again, existed, _ := store.Create(ctx, &jobstore.Job{IdempotencyKey: "order-42"}, nil)
	fmt.Println("same job:", again.ID == job.ID, existed)

	job, _ = store.Transition(ctx, job.ID, jobstore.StatusActive, "attempt 1", func(j *jobstore.Job) error {
		j.Attempts++
		return nil
	})
	job, _ = store.Transition(ctx, job.ID, jobstore.StatusCompleted, "uploaded", func(j *jobstore.Job) error {
		j.FileID = "6673f1e7a1b2c3d4e5f6a7b8"
		return nil
	})
	_, err = store.Transition(ctx, job.ID, jobstore.StatusActive, "again?", nil)
	var te *jobstore.TransitionError
	if errors.As(err, &te) && errors.Is(err, jobstore.ErrIllegalTransition) {
		fmt.Println("refused:", te.From, "→", te.To)
	}

	done, _, _ := store.List(ctx, jobstore.ListOptions{Status: jobstore.StatusCompleted})
	for _, j := range done {
		fmt.Println(j.Status, j.Attempts, j.FileID, len(j.Events))
	}
	// Output:
	// same job: true true
	// refused: completed → active
	// completed 1 6673f1e7a1b2c3d4e5f6a7b8 3
}
