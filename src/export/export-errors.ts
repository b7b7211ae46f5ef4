/** The export's two failures of content: the page's shape, and a value no file of the declared schema holds. */

/** The database's page does not have the shape the export asked for (lengths, order, types). */
export class ExportPageError extends Error {
  readonly code = 'EXPORT_PAGE'
}

/** A value the file cannot hold exactly as declared (not a finite number, too many digits). */
export class ExportValueError extends Error {
  readonly code = 'EXPORT_VALUE'
}
