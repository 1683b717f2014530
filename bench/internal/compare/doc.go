// Package compare is the machinery of the side-by-side comparisons that
// command bench/cmd/compare runs and package bench's benchmarks expose:
// the groups of comparisons ([Groups]), how they are run and judged
// ([Run]), and the detection matrix. It is internal to the bench module.
package compare
