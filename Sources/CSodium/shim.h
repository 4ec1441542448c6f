#ifndef EDGENODE_CSODIUM_SHIM_H
#define EDGENODE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
