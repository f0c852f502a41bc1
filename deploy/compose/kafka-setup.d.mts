// Types of kafka-setup.mjs (plain JavaScript, so the hub image runs it without a loader).
import type { AclEntry, ITopicConfig } from 'kafkajs';

export function manifests(text: string, kind: string): Record<string, unknown>[];
export function topicsOf(text: string): ITopicConfig[];
export function aclsOf(text: string): AclEntry[];
