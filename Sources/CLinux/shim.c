#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include "CLinux.h"

int clinux_syncfs(int fd) { return syncfs(fd); }
int clinux_blkgetsize64(int fd, uint64_t *size) { return ioctl(fd, BLKGETSIZE64, size); }
int clinux_blksszget(int fd, int *size) { return ioctl(fd, BLKSSZGET, size); }
int clinux_blkzeroout(int fd, uint64_t offset, uint64_t length) {
    uint64_t range[2] = { offset, length };
    return ioctl(fd, BLKZEROOUT, range);
}
int clinux_punch_hole(int fd, int64_t offset, int64_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}
int clinux_o_direct(void) { return O_DIRECT; }
int clinux_start_writeback(int fd, int64_t offset, int64_t length) { return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE); }
