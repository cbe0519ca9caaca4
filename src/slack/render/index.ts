// Pure Block Kit renderers for cutover-bot: no Slack SDK, no I/O.
export * from './blocks';
export * from './sparkline';
export * from './progress';
export * from './gate';
export * from './modal';
export * from './summary';
