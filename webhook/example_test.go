package webhook_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/webhook"
	"github.com/redis/go-redis/v9"
)

func ExampleCapability_URL() {
	c, err := webhook.NewCapability([]byte("a secret of at least thirty-two bytes"))
	if err != nil {
		panic(err)
	}
	// The worker gives ImageKit this webhookUrl for job 01JEXAMPLE.
	u := c.URL("https://ikq.example.com/", "01JEXAMPLE")
	fmt.Println(u)
	fmt.Println(c.Valid("01JEXAMPLE", c.Token("01JEXAMPLE")), c.Valid("01JOTHER", c.Token("01JEXAMPLE")))
	// Output:
	// https://ikq.example.com/webhooks/imagekit/01JEXAMPLE?token=6ade65774a5925a1d3d1c57739d977dad6063e5828f684ee50f36890525bae48
	// true false
}

func ExampleNewHandler() {
	rdb, release := exampleRedis() // the Redis of the producers and workers
	defer release()
	c, _ := webhook.NewCapability([]byte("a secret of at least thirty-two bytes"))
	h, err := webhook.NewHandler(webhook.Config{Redis: rdb, Capability: c})
	if err != nil {
		panic(err)
	}
	// No job 01JEXAMPLE exists: a valid callback for it is answered 200, ignored.
	body := `{"service":"remove-bg","status":"SUCCESS","fileObject":{"fileId":"f1"}}`
	r := httptest.NewRequest(http.MethodPost, "/webhooks/imagekit/01JEXAMPLE?token="+c.Token("01JEXAMPLE"), strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	// Output: 200 {"status":"ignored"}
}

// exampleRedis is an isolated database of the tests' Redis, so that the examples
// run and their output is checked.
func exampleRedis() (*redis.Client, func()) { return redistest.Example() }
