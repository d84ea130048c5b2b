export * from './busTlsFiles.ts';
export * from './clientTls.ts';
export * from './makeBusCertificates.ts';
export * from './serverConfFile.ts';
export * from './serverNames.ts';
