#include "textflag.h"

// func CallerPC() uintptr
//
// Returns the return address saved in the frame of the function that called
// CallerPC: the pc in that function's caller. NOFRAME keeps BP pointing at
// the calling function's frame record (saved BP, then return address).
TEXT ·CallerPC(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ 8(BP), AX
	MOVQ AX, ret+0(FP)
	RET
