import Foundation
FileHandle.standardError.write(Data("embed: not built yet\n".utf8))
exit(2)
