// The directory moved to shared/commands/, where the HTTP command API reads it too; the console's modules
// keep importing it from here.
export {
  type AnnouncedCommand,
  MAX_PACK_INSTANCES,
  type PackAnnouncement,
  PackDirectory,
  type PackInstance,
  type PackState,
  SILENT_AFTER_INTERVALS,
} from '../shared/commands/pack-directory.ts';
