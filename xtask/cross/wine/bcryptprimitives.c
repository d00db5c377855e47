/* Stand-in for Windows' bcryptprimitives.dll under Wine 8, which lacks ProcessPrng:
 * Rust's std (1.78 and later) imports it for random bytes (HashMap seeds). It forwards to
 * RtlGenRandom (advapi32 SystemFunction036), which Wine has. Built and installed into the
 * Wine prefix by `cargo xtask setup` and `cargo xtask build-all --load-check`. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
