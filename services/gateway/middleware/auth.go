package middleware

import (
	"errors"
	"net/http"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/grpc/codes"
)

// Authenticate rejects requests without a valid bearer token with 401 in the
// google.rpc.Status shape, and puts the verified principal into the
// request's context. The token itself travels on to the services.
func Authenticate(v auth.TokenVerifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := auth.BearerToken(r.Header.Get("Authorization"))
			if err == nil {
				var p *auth.Principal
				if p, err = v.Verify(r.Context(), raw); err == nil {
					next.ServeHTTP(w, r.WithContext(auth.NewContextWithPrincipal(r.Context(), p)))
					return
				}
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="dealercare"`)
			msg := err.Error()
			if apperr.ParseAcceptLanguage(r.Header.Get("Accept-Language")) == apperr.LangZH {
				msg = tokenErrorZh(err)
			}
			WriteStatus(w, http.StatusUnauthorized, codes.Unauthenticated, msg)
		})
	}
}

// tokenErrorZh is the Chinese message of a token error, by its kind.
func tokenErrorZh(err error) string {
	for kind, msg := range map[error]string{
		auth.ErrMissingToken:         "缺少 Bearer 令牌（Authorization 请求头）",
		auth.ErrMalformedToken:       "令牌格式错误",
		auth.ErrUnsupportedAlgorithm: "不支持的签名算法",
		auth.ErrUnknownKey:           "未知的签名密钥",
		auth.ErrInvalidSignature:     "令牌签名无效",
		auth.ErrTokenExpired:         "令牌已过期",
		auth.ErrTokenNotYetValid:     "令牌尚未生效",
		auth.ErrUntrustedIssuer:      "令牌签发方不受信任",
		auth.ErrWrongAudience:        "令牌受众不匹配",
		auth.ErrInvalidClaims:        "令牌声明无效",
	} {
		if errors.Is(err, kind) {
			return msg
		}
	}
	return "令牌无效"
}
