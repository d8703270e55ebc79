package credhelper

import "sync"

// Shared returns a func that gives out one Helper per name for the life of
// the process, made by configure (nil, or a nil result: a Helper with
// defaults). Sources that name the same helper should share it this way: a
// Helper that hung or is missing is not run again, so a run pays that
// helper's timeout once, however many files or keys name it.
func Shared(configure func(name string) *Helper) func(name string) *Helper {
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

// Factory hands out the Helper of a name found in a credentials file. A nil
// Factory, or one that returns nil, means a Helper with defaults.
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
