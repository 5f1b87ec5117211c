#ifndef SUYUAN_CSODIUM_SHIM_H
#define SUYUAN_CSODIUM_SHIM_H
#include <sodium.h>
#endif
