package importer

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/customer/archive"
)

// Service applies the archive's access rules to imports: the dealer's own
// staff create them (an import writes the archive); whoever may read the
// archive may follow them.
type Service struct {
	store Store
	vis   archive.Visibility
}

// NewService returns a Service; vis is the dealer network's visibility
// rule (network.Service).
func NewService(store Store, vis archive.Visibility) *Service {
	return &Service{store: store, vis: vis}
}

func (s *Service) reader(ctx context.Context, dealer string) (*auth.Principal, error) {
	return archive.Reader(ctx, s.vis, dealer)
}

func (s *Service) writer(ctx context.Context, dealer string) (*auth.Principal, error) {
	return archive.Writer(ctx, s.vis, dealer)
}

// CreateImport stores the file and returns the running import at once; a
// Runner processes it. EINVALID for an empty or oversized file or an
// unknown encoding; problems inside the file fail the import instead (see
// Import.Failure) or reject rows (ListImportErrors).
func (s *Service) CreateImport(ctx context.Context, dealer, fileName string, content []byte, encoding string) (*Import, error) {
	p, err := s.writer(ctx, dealer)
	if err != nil {
		return nil, err
	}
	enc, ok := NormalizeEncoding(encoding)
	if !ok {
		return nil, apperr.Invalid("encoding", "must be utf-8, gbk or empty to detect").ZhReason("须为 utf-8、gbk 或留空自动识别")
	}
	switch {
	case len(content) == 0:
		return nil, apperr.Invalid("content", "the file is empty").ZhReason("文件为空")
	case len(content) > MaxFileSize:
		return nil, apperr.Invalid("content", "the file is larger than 200 MiB; split it").ZhReason("文件超过 200 MiB，请拆分后导入")
	}
	fileName = strings.TrimSpace(fileName)
	if utf8.RuneCountInString(fileName) > 200 || !utf8.ValidString(fileName) {
		return nil, apperr.Invalid("file_name", "must be at most 200 characters of text").ZhReason("不能超过 200 个字符")
	}
	return s.store.CreateImport(ctx, &Import{
		Dealer: dealer, FileName: fileName, Encoding: enc, State: StateRunning, Creator: p.Subject,
	}, content)
}

// GetImport returns ENOTFOUND for a missing or invisible import.
func (s *Service) GetImport(ctx context.Context, dealer, id string) (*Import, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, err
	}
	return s.store.GetImport(ctx, dealer, id)
}

// ListImports lists the dealer's imports, newest first.
func (s *Service) ListImports(ctx context.Context, dealer string, pg archive.Page) ([]Import, string, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, "", err
	}
	pg.Size = pageSize(pg.Size)
	return s.store.ListImports(ctx, dealer, pg)
}

// ListImportErrors lists an import's rejected rows by row number; ENOTFOUND
// for a missing or invisible import.
func (s *Service) ListImportErrors(ctx context.Context, dealer, id string, pg archive.Page) ([]RowError, string, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetImport(ctx, dealer, id); err != nil {
		return nil, "", err
	}
	pg.Size = pageSize(pg.Size)
	return s.store.ListImportErrors(ctx, dealer, id, pg)
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return archive.DefaultPageSize
	case n > archive.MaxPageSize:
		return archive.MaxPageSize
	}
	return n
}
