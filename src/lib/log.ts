import { pino } from 'pino';
/** Structured JSON logs (pino). Level from SLUICE_LOG_LEVEL (default info; tests set silent). */
export const log = pino({ level: process.env.SLUICE_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info'), base: undefined });
export type Logger = typeof log;
