// Linux calls Swift cannot import directly (GNU extensions, variadic ioctl requests).
#pragma once
#include <stdint.h>

/// syncfs(2) on the file system holding fd.
int clinux_syncfs(int fd);
/// BLKGETSIZE64: a block device's size in bytes; 0 on success, -1 with errno.
int clinux_blkgetsize64(int fd, uint64_t *size);
/// BLKSSZGET: a block device's logical sector size.
int clinux_blksszget(int fd, int *size);
/// BLKZEROOUT: zero a byte range of a block device.
int clinux_blkzeroout(int fd, uint64_t offset, uint64_t length);
/// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).
int clinux_punch_hole(int fd, int64_t offset, int64_t length);
/// O_DIRECT, which Swift does not import.
int clinux_o_direct(void);
/// sync_file_range(SYNC_FILE_RANGE_WRITE): start writeback of dirty pages now, without waiting.
int clinux_start_writeback(int fd, int64_t offset, int64_t length);
