package netguard_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ikq-dev/ikq/internal/netguard"
)

// A loopback server is refused until IKQ_FETCH_ALLOW lets it through.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()

	guard, _ := netguard.New(netguard.Config{})
	resp, err := guard.Client(5 * time.Second).Get(srv.URL)
	if err == nil {
		_ = resp.Body.Close()
	}
	fmt.Println(errors.Is(err, netguard.ErrRefused))

	allow, _ := netguard.ParseAllow("127.0.0.0/8, ::1")
	guard, _ = netguard.New(netguard.Config{Allow: allow})
	resp, err = guard.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// true
	// 200 OK
}
