package credhelper

import "sync"

// Factory hands out the Helper of a name, whether a source names it
// directly or a docker config's credsStore or credHelpers does. It is the
// one way sources get a Helper; a nil Factory gives Helpers with defaults.
type Factory func(name string) *Helper

// Helper returns the Helper for name.
func (f Factory) Helper(name string) *Helper {
	if f != nil {
		if h := f(name); h != nil {
			return h
		}
	}
	return &Helper{Name: name}
}

// NewFactory returns a Factory that gives out one Helper per name for its
// whole life, made by configure (nil, or a nil result: a Helper with
// defaults). Sources that name the same helper must share one Factory: a
// Helper that hung or is missing is not run again, so a run pays that
// helper's timeout once, however many files or keys name it.
func NewFactory(configure func(name string) *Helper) Factory {
	var mu sync.Mutex
	made := map[string]*Helper{}
	return func(name string) *Helper {
		mu.Lock()
		defer mu.Unlock()
		if h, ok := made[name]; ok {
			return h
		}
		var h *Helper
		if configure != nil {
			h = configure(name)
		}
		if h == nil {
			h = &Helper{Name: name}
		}
		made[name] = h
		return h
	}
}
