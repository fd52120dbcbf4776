# Shared by the bootimage/ scripts (sourced, not run). Each script sets `me` first.

die() { echo "${me:-bootimage}: $*" >&2; exit 1; }

# need COMMAND PACKAGE: fail with the Debian package that provides COMMAND.
need() {
  command -v "$1" >/dev/null 2>&1 || die "missing '$1': apt-get install $2"
}

# need_file PATH PACKAGE
need_file() {
  [ -r "$1" ] || die "missing $1: apt-get install $2"
}

# The kernel command line of every boot path: kernel and rescue client on screen and serial.
boot_cmdline="console=tty0 console=ttyS0,115200"

# default_kernel: the running kernel when /boot has it, else the newest /boot/vmlinuz-*.
default_kernel() {
  local k=/boot/vmlinuz-$(uname -r)
  [ -r "$k" ] || k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1) || true
  [ -n "$k" ] || die "no kernel in /boot (/boot/vmlinuz-*): apt-get install linux-image-amd64, or pass --kernel"
  echo "$k"
}

# kernel_version VMLINUZ: the version its modules live under (/lib/modules/VERSION).
kernel_version() {
  local v=${1##*/vmlinuz-}
  case $1 in */vmlinuz-*) ;; *) die "cannot tell the version of kernel $1 (expected a name like /boot/vmlinuz-VERSION)";; esac
  echo "$v"
}

# syslinux_cfg KERNEL INITRD: the isolinux/pxelinux configuration (serial console, a 2 s prompt at
# which "rescue understudy.KEY=VALUE ..." adds kernel parameters).
syslinux_cfg() {
  cat <<CFG
SERIAL 0 115200
PROMPT 1
TIMEOUT 20
DEFAULT rescue
SAY Understudy rescue: starting in 2 s. To override settings, type at boot: rescue understudy.machine=NAME ...
LABEL rescue
  KERNEL $1
  INITRD $2
  APPEND $boot_cmdline
CFG
}
