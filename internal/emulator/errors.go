package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// helpText is the "help" ImageKit sends with every error body.
const helpText = "For support kindly contact us at support@imagekit.io."

// helpText403 is the help of the 403 for a wrong private key, which ImageKit writes
// with a space before the final dot (its SDKs' fixtures record it so).
const helpText403 = "For support kindly contact us at support@imagekit.io ."

// Messages the Upload API documents verbatim (https://imagekit.io/docs/api-reference/upload-file/upload-file).
// Those ImageKit does not document are written in the same voice and marked below.
const (
	msgNoPrivateKey       = "Your request does not contain private API key."
	msgWrongPrivateKey    = "Your account cannot be authenticated."
	msgMissingFile        = "Your request is missing file parameter."
	msgMissingFileName    = "Your request is missing fileName parameter." // undocumented wording
	msgBothSignatureBasic = "Your request contains both signature and basic auth parameter. Use only one method, you might be exposing your private API key."
	msgBothTokenBasic     = "Your request contains both token and basic auth parameter. Use only one method, you might be exposing your private API key."
	msgInvalidExpire      = "Your request contains invalid expire parameter. Expire parameter should be a Unix time in less than 1 hour into the future."
	msgConflict           = "A file with the same name already exists at the exact location. We could not overwrite it because both overwriteFile and useUniqueFileName are set to false."
	msgTooLarge           = "Your request contains invalid file parameter. The file size exceeds limits."
	msgTransformation     = "The file could not be uploaded because the transformation field is invalid."
	msgTransformNotMedia  = "The file could not be uploaded because transformations are supported only for image and video files."
	msgTransformMismatch  = "The file could not be uploaded because the detected file type & post-transformation are incompatible."
	msgChecksSyntax       = "Your request contains invalid syntax for the checks parameter."
	msgChecksFailed       = "Your request failed 'checks' validation."
	msgInvalidPayload     = "Your request contains invalid payload. It does not match with the payload used to generate token."
	msgMissingToken       = "Your request is missing token parameter."
	msgExpiredToken       = "Your request contains expired token."
	msgInvalidToken       = "Your request has invalid token."
	msgInvalidCustomMeta  = "Invalid custom metadata."
	msgFileNotFound       = "The requested file does not exist."
	msgInvalidField       = "Invalid field object"                                   // custom metadata fields API, 400 with per-property errors
	msgFieldNameTaken     = "A custom metadata field with this name already exists." // reported by users (imagekit-react#115)

	// Undocumented by ImageKit; worded like the documented ones.
	msgInvalidSignature = "Your request contains invalid signature. Signature should be HMAC-SHA1 of token+expire using your private API key."
	msgReusedToken      = "Your request contains a token that has been used before. Use a new token for every upload."
	msgWrongPublicKey   = "Your request contains invalid publicKey parameter."
	msgUnsupportedType  = "Your request contains invalid file parameter. The file type is not supported."
	msgURLDownload      = "Your request contains invalid file parameter. The file could not be downloaded from the URL."
	msgURLTimeout       = "Your request contains invalid file parameter. The file URL did not respond within 8 seconds."
	msgInvalidBase64    = "Your request contains invalid file parameter. The value is neither a URL nor valid base64 content."
	msgVersionLimit     = "The file could not be uploaded because it already has the maximum of 100 versions."
	msgTooManyRequests  = "Too many requests. Please try again later."
	msgServerError      = "Internal server error. Please try again."
	msgServiceDown      = "Service temporarily unavailable. Please try again."
	msgNotMultipart     = "Your request must be multipart/form-data."
	msgFieldLabelTaken  = "A custom metadata field with this label already exists."
	msgFieldDeleted     = "This custom metadata field has been deleted and cannot be updated."
	msgNoSuchField      = "No such custom metadata field."
)

// apiError is an error body in ImageKit's shape: {"message", "help"} plus, for
// custom metadata, per-field "errors".
type apiError struct {
	Status  int               `json:"-"`
	Message string            `json:"message"`
	Help    string            `json:"help"`
	Errors  map[string]string `json:"errors,omitempty"`
	header  http.Header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

func badRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: msg, Help: helpText}
}

// invalidParam is the 400 for a parameter whose value breaks a rule.
func invalidParam(name, detail string) *apiError {
	msg := "Your request contains invalid value for " + name + " parameter."
	if detail != "" {
		msg += " " + detail
	}
	return badRequest(msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err *apiError) {
	for k, vs := range err.header {
		w.Header()[k] = vs
	}
	writeJSON(w, err.Status, err)
}
