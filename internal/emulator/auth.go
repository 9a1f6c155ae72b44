package emulator

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // G505: ImageKit signs client-side uploads with HMAC-SHA1; the emulator must check the same
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenLife is how far ahead a client-side expire (v1) or exp-iat (v2) may reach.
const maxTokenLife = 3600

// authenticate checks an upload's credentials: HTTP Basic with the private key
// (server-side), or client-side auth: a v1 signature of token+expire, or a v2 JWT over
// the whole payload. Client-side tokens are single-use.
func (s *Server) authenticate(r *http.Request, version int, fields map[string]string) *apiError {
	_, _, basic := r.BasicAuth()
	_, hasSignature := fields["signature"]
	_, hasToken := fields["token"]
	switch {
	case basic && version == 1 && hasSignature:
		return badRequest(msgBothSignatureBasic)
	case basic && version == 2 && hasToken:
		return badRequest(msgBothTokenBasic)
	case basic:
		return s.checkBasic(r)
	case version == 1 && (hasSignature || hasToken || fields["publicKey"] != "" || fields["expire"] != ""):
		return s.checkSignature(fields)
	case version == 2 && hasToken:
		return s.checkJWT(fields)
	case version == 2 && fields["publicKey"] != "":
		return badRequest(msgMissingToken)
	}
	return &apiError{Status: http.StatusUnauthorized, Message: msgNoPrivateKey, Help: helpText}
}

// checkSignature verifies v1 client-side auth: signature = hex HMAC-SHA1(private key,
// token+expire), expire a Unix time less than an hour ahead, token unused.
func (s *Server) checkSignature(fields map[string]string) *apiError {
	for _, name := range []string{"publicKey", "signature", "expire", "token"} {
		if fields[name] == "" {
			return badRequest("Your request is missing " + name + " parameter.")
		}
	}
	if !hmac.Equal([]byte(fields["publicKey"]), []byte(s.cfg.PublicKey)) {
		return badRequest(msgWrongPublicKey)
	}
	now := s.cfg.Now()
	expire, err := strconv.ParseInt(fields["expire"], 10, 64)
	if err != nil || expire <= now.Unix() || expire-now.Unix() >= maxTokenLife {
		return badRequest(msgInvalidExpire)
	}
	mac := hmac.New(sha1.New, []byte(s.cfg.PrivateKey))
	mac.Write([]byte(fields["token"] + fields["expire"]))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(fields["signature"])) {
		return badRequest(msgInvalidSignature)
	}
	if err := s.store.useToken("v1:"+fields["token"], time.Unix(expire, 0), now); err != nil {
		return tokenStoreError(err)
	}
	return nil
}

// checkJWT verifies v2 client-side auth: an HS256 JWT keyed with the private key,
// kid = public key, exp-iat at most an hour, and a payload holding exactly the
// request's parameters but file and token, values as strings.
func (s *Server) checkJWT(fields map[string]string) *apiError {
	raw := fields["token"]
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(s.cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	_, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if !hmac.Equal([]byte(kid), []byte(s.cfg.PublicKey)) {
			return nil, errors.New("unknown kid")
		}
		return []byte(s.cfg.PrivateKey), nil
	})
	if errors.Is(err, jwt.ErrTokenExpired) {
		return badRequest(msgExpiredToken)
	}
	if err != nil {
		return badRequest(msgInvalidToken)
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if iat == nil || exp.Sub(iat.Time) > maxTokenLife*time.Second {
		return badRequest(msgInvalidToken)
	}
	if !payloadMatches(claims, fields) {
		return badRequest(msgInvalidPayload)
	}
	// A token is used once however it is spelt: its signature segment can be
	// written several ways (line breaks, the last character's unused bits), so
	// the signed part, header.payload, is what is remembered.
	signed := raw[:strings.LastIndexByte(raw, '.')]
	if err := s.store.useToken("v2:"+signed, exp.Time, s.cfg.Now()); err != nil {
		return tokenStoreError(err)
	}
	return nil
}

// payloadMatches compares a JWT's claims, less iat and exp, with the request's
// fields, less file and token.
func payloadMatches(claims jwt.MapClaims, fields map[string]string) bool {
	n := 0
	for k, v := range claims {
		if k == "iat" || k == "exp" {
			continue
		}
		n++
		got, ok := fields[k]
		if !ok || got != claimString(v) {
			return false
		}
	}
	sent := 0
	for k := range fields {
		if k != "file" && k != "token" {
			sent++
		}
	}
	return n == sent
}

// claimString is a claim's value as the form would carry it: strings as they are,
// anything else as JSON (true, 5, ["a"]).
func claimString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func tokenStoreError(err error) *apiError {
	if errors.Is(err, errTokenReused) {
		return badRequest(msgReusedToken)
	}
	return &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText}
}
