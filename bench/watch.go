package bench

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// selectorLW lists and watches, with a typed client's List and Watch, the
// objects that set picks (a field or label selector it puts in the options).
func selectorLW[L runtime.Object](set func(*metav1.ListOptions), list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			set(&o)
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			set(&o)
			return watchFn(ctx, o)
		},
	}
}

// fieldSelectorLW lists and watches the one object called name.
func fieldSelectorLW[L runtime.Object](name string, list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return selectorLW(func(o *metav1.ListOptions) { o.FieldSelector = sel }, list, watchFn)
}

// labelSelectorLW lists and watches the objects matching a label selector.
func labelSelectorLW[L runtime.Object](sel string, list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	return selectorLW(func(o *metav1.ListOptions) { o.LabelSelector = sel }, list, watchFn)
}
