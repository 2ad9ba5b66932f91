/**
 * Optional comparison packages: a variant that needs one is skipped, with a
 * printed note, when the package is not installed.
 */
import { existsSync } from "node:fs"
import * as path from "node:path"
import { ROOT } from "./proc.ts"

export const hasPackage = (name: string): boolean => existsSync(path.join(ROOT, "node_modules", name, "package.json"))

/** The skip reason for Effect's NodeSocket variants, or `undefined` when they can run. */
export const platformNodeSkip: string | undefined = hasPackage("@effect/platform-node")
  ? undefined
  : "@effect/platform-node is not installed (add it as a devDependency to compare with Effect's NodeSocket)"
