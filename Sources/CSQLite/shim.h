#ifndef EDGENODE_CSQLITE_SHIM_H
#define EDGENODE_CSQLITE_SHIM_H
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro over a cast of -1 that Swift cannot import. */
static inline sqlite3_destructor_type edgenode_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/* sqlite3_db_config is variadic: Swift cannot call it directly. */
static inline int edgenode_sqlite_disable_triggers(sqlite3 *db) {
    int result = -1;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &result);
}
static inline int edgenode_sqlite_triggers_enabled(sqlite3 *db) {
    int result = -1;
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, -1, &result);
    return result;
}
#endif
