import Foundation
FileHandle.standardError.write(Data("probe: not built yet\n".utf8))
exit(2)
