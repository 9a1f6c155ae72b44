// Package apiserver assembles ikq's HTTP server: the producer REST API, the webhook
// receiver, the asynq dashboard, Prometheus metrics, health checks and the OpenAPI
// document, each behind the right guard.
//
//	srv, err := apiserver.New(apiserver.Config{
//		Redis: rdb, RedisOpt: redisCfg.AsynqOpt(),
//		Producer: p, Guard: httpauth.New(httpauth.Config{Tokens: tokens}),
//	})
//	if err != nil { ... }
//	defer srv.Close()
//	http.ListenAndServe(":8080", srv)
//
// # Routes
//
//	/v1/uploads…          producer REST API            token
//	/monitoring/          asynq dashboard (asynqmon)   token, or Basic with a token as password
//	/metrics              Prometheus                   token
//	/webhooks/imagekit…   ImageKit webhooks            their own proof (capability token, signature)
//	/healthz, /readyz     liveness; readiness = Redis answers
//	/openapi.json         the OpenAPI 3.1 document
//
// With no tokens configured every guarded route serves loopback clients only, under
// a loopback Host name (localhost, 127.0.0.1, [::1]; else 421), and the REST API
// takes only bodies sent as application/json (else 415). With or without tokens, a
// guarded route refuses a state-changing request a browser marks as sent by a page
// of another site (403): see package httpauth.
package apiserver
