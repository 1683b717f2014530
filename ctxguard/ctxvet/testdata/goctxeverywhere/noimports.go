package goctxeverywhere

import "net/http"

func contextFromRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_ = ctx
	go func() { // want `goroutine does not receive ctx`
		work()
	}()
}
