package redisproc_test

import (
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// A private redis-server on a free loopback port, for as long as the program runs.
func ExampleStart() {
	p, err := redisproc.Start(redisproc.Options{})
	if err != nil {
		log.Fatal(err) // the error carries the tail of the server's output
	}
	defer p.Stop()

	rdb := redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer func() { _ = rdb.Close() }()
	fmt.Println("redis on", p.Addr())
}
