#include "../vdrv.h"
const char rt_guest_name[] = "netbench";
void guest_main(const struct boot_info *bi) { (void)bi; }
