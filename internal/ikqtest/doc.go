// Package ikqtest holds the helpers ikq's tests share: polling until a condition
// holds, a log buffer safe for concurrent writers, test images, source servers on
// loopback, and a TestMain that checks no goroutine outlives the tests.
//
//	func TestMain(m *testing.M) { ikqtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		logs := &ikqtest.LockedBuffer{}
//		src := ikqtest.NewSourceServer(t, ikqtest.PNG(t, 1, 32, 32), nil)
//		// ... start something that logs into logs and fetches src.URL ...
//		ikqtest.Eventually(t, func() string { return logs.Tail(2000) },
//			func() bool { return src.Requests() > 0 })
//	}
//
// It imports no ikq package but redistest, so the internal tests of any package
// above redistest can use it. The whole pipeline on loopback (Redis, emulator, API
// and worker) is package ikqtest/e2e, which imports those packages.
package ikqtest
