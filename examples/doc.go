// Package examples holds programs built, as a web app's own module would be,
// against ikq's public packages only:
//
//   - webapp: a net/http app that enqueues uploads, lists them and verifies the
//     signed callbacks ikq sends when they end (packages producer and tasks);
//   - embedworker: a binary that runs an ikq worker and the ImageKit webhook
//     receiver in its own process (packages worker and webhook).
//
// Both on one machine, offline, with `ikq emulator` as ImageKit:
//
//	redis-server --port 6379 &
//	ikq emulator --listen 127.0.0.1:9090 --private-key private_dev &
//	export IKQ_CALLBACK_SECRET=whsec_$(head -c 24 /dev/urandom | base64)
//	IMAGEKIT_PRIVATE_KEY=private_dev IMAGEKIT_UPLOAD_URL=http://127.0.0.1:9090/api/v1/files/upload \
//	  IMAGEKIT_API_URL=http://127.0.0.1:9090 FETCH_ALLOW=127.0.0.0/8 go run ./embedworker &
//	go run ./webapp &
//	curl -X POST 127.0.0.1:3000/photos -d url=http://127.0.0.1:9090/_emulator/sample.jpg
//	curl '127.0.0.1:3000/photos?status=completed' # and the webapp logs the verified callback
//
// `make lint` builds and vets this module, so a change that breaks the public face
// fails there.
package examples
