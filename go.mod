module github.com/ikq-dev/ikq

go 1.26.8

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/gabriel-vasile/mimetype v1.4.16
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/google/uuid v1.6.0
	github.com/standard-webhooks/standard-webhooks/libraries v0.0.1
	golang.org/x/image v0.47.0
)
