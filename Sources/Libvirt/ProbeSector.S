# The accelerator probe: a 512-byte boot sector that does what boot loaders and kernels do
# first, and reports each stage on qemu's debug console (port 0xe9):
#   R  real mode, loaded by the BIOS
#   P  protected mode (GDT, CR0.PE, far jump)
#   I  an iret in protected mode (where SYSLINUX died under kvm-pvm)
#   T  three timer interrupts (PIC + PIT, IDT, sti/hlt) delivered
#   L  long mode (PAE paging, EFER.LME, CR0.PG, far jump to a 64-bit segment)
#   Q  an iretq in long mode
# then writes 0x2a to isa-debug-exit (port 0xf4), so qemu exits with status 0x55.
# Build: as --64 -o probe.o probe.S && ld -m elf_x86_64 -Ttext=0x7c00 --oformat=binary -e start -o probe.bin probe.o

    .intel_syntax noprefix
    .text
    .code16
    .globl start
start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov al, 'R'
    out 0xe9, al
    lgdt [gdt_desc]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    .byte 0x66, 0xea            # jmp far 0x08:pm32 (32-bit offset)
    .long pm32
    .word 0x08

    .code32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7c00
    mov al, 'P'
    out 0xe9, al
    pushfd                      # iret to the next instruction, same privilege
    push 0x08
    push offset after_iret
    iretd
after_iret:
    mov al, 'I'
    out 0xe9, al

    mov edi, 0x800              # IDT: 33 gates at 0x800, only vector 0x20 (IRQ 0) present
    xor eax, eax
    mov ecx, 66
    rep stosd
    mov eax, offset timer
    mov word ptr [0x900], ax
    mov word ptr [0x902], 0x08
    mov word ptr [0x904], 0x8e00
    shr eax, 16
    mov word ptr [0x906], ax
    lidt [idt_desc]

    mov al, 0x11                # PIC: IRQ 0-7 at vectors 0x20-0x27, only IRQ 0 unmasked
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    mov al, 0x34                # PIT channel 0, rate generator, divisor 1193 (~1 kHz)
    out 0x43, al
    mov al, 0xa9
    out 0x40, al
    mov al, 0x04
    out 0x40, al
    xor ebx, ebx
    sti
ticks:
    hlt
    cmp ebx, 3
    jb ticks
    cli
    mov al, 'T'
    out 0xe9, al

    mov edi, 0x2000             # page tables: PML4 0x2000, PDPT 0x3000, PD 0x4000 (one 2 MiB page)
    xor eax, eax
    mov ecx, 0xc00
    rep stosd
    mov dword ptr [0x2000], 0x3003
    mov dword ptr [0x3000], 0x4003
    mov dword ptr [0x4000], 0x83
    mov eax, cr4
    or eax, 0x20                # PAE
    mov cr4, eax
    mov eax, 0x2000
    mov cr3, eax
    mov ecx, 0xc0000080         # EFER.LME
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000000          # PG: IA-32e, compatibility mode
    mov cr0, eax
    .byte 0xea                  # jmp far 0x18:lm64
    .long lm64
    .word 0x18

    .code64
lm64:
    mov al, 'L'
    out 0xe9, al
    mov rax, rsp                # iretq to the next instruction
    push 0x10
    push rax
    pushfq
    push 0x18
    lea rax, [rip + after_iretq]
    push rax
    iretq
after_iretq:
    mov al, 'Q'
    out 0xe9, al
    mov al, 0x2a
    out 0xf4, al
halt:
    cli
    hlt
    jmp halt

    .code32
timer:                          # IRQ 0: count in ebx, end of interrupt
    push eax
    inc ebx
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    # 0x08: 32-bit code
    .quad 0x00cf92000000ffff    # 0x10: data
    .quad 0x00af9a000000ffff    # 0x18: 64-bit code
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt
idt_desc:
    .word 0x108 - 1
    .long 0x800

    .org 510
    .byte 0x55, 0xaa
