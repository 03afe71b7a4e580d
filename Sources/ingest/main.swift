import Foundation
FileHandle.standardError.write(Data("ingest: not built yet\n".utf8))
exit(2)
