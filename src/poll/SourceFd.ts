/**
 * `SourceFd` registers any fd the caller owns — an inotify fd, a DCCP socket from
 * elsewhere, a child's pipe — without taking ownership (mio's `unix::SourceFd`).
 * It never closes the fd and keeps no registration state: the kernel answers a
 * second `register` with `EEXIST` (kind `AlreadyExists`) and a `reregister` or
 * `deregister` of an unregistered fd with `ENOENT` (kind `NotFound`).
 *
 * @since 0.1.0
 */
import type { Source } from "./Source.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface SourceFd extends Source {
  readonly fd: number
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const SourceFd = (fd: number): SourceFd => ({
  fd,
  register: (registry, token, interest, options) => registry.registerFd(fd, token, interest, options),
  reregister: (registry, token, interest, options) => registry.reregisterFd(fd, token, interest, options),
  deregister: (registry) => registry.deregisterFd(fd)
})
