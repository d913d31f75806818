//! The words of each mail in each language. Templates hold the layout; this file holds what a
//! translator changes. Languages other than en, ko and ja fall back to en.

/// The sentences of one mail in one language.
pub struct Texts {
    pub subject: &'static str,
    pub heading: &'static str,
    pub greeting: &'static str,
    pub intro: &'static str,
    pub note: &'static str,
    pub ignore: &'static str,
}

/// The languages mails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailLanguage {
    En,
    Ko,
    Ja,
}

impl MailLanguage {
    /// `ko`, `ko-KR` and `ko_KR` are Korean; anything unknown is English.
    pub fn for_tag(tag: &str) -> Self {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "ko" => Self::Ko,
            "ja" => Self::Ja,
            _ => Self::En,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
            Self::Ja => "ja",
        }
    }
}

pub fn verify_email(lang: MailLanguage) -> &'static Texts {
    match lang {
        MailLanguage::En => &Texts {
            subject: "Verify your notification email",
            heading: "Verify your notification email",
            greeting: "Hello",
            intro: "Enter this verification code to confirm your notification email address:",
            note: "The code is valid for 60 minutes and can be used once.",
            ignore: "If you did not ask for this, you can ignore this mail.",
        },
        MailLanguage::Ko => &Texts {
            subject: "알림 이메일을 인증해 주세요",
            heading: "알림 이메일 인증",
            greeting: "안녕하세요",
            intro: "알림 이메일 주소를 확인하려면 아래 인증 코드를 입력해 주세요:",
            note: "이 코드는 60분 동안 한 번만 사용할 수 있습니다.",
            ignore: "요청하지 않으셨다면 이 메일을 무시하셔도 됩니다.",
        },
        MailLanguage::Ja => &Texts {
            subject: "通知メールアドレスを確認してください",
            heading: "通知メールアドレスの確認",
            greeting: "こんにちは",
            intro: "通知メールアドレスを確認するには、次の確認コードを入力してください:",
            note: "このコードの有効期限は60分で、一度だけ使用できます。",
            ignore: "お心当たりがない場合は、このメールを無視してください。",
        },
    }
}

pub fn mfa_code(lang: MailLanguage) -> &'static Texts {
    match lang {
        MailLanguage::En => &Texts {
            subject: "Verify your MFA email",
            heading: "Verify your MFA email",
            greeting: "Hello",
            intro: "Enter this code to confirm the change to your multi-factor authentication:",
            note: "The code is valid for 5 minutes and can be used once.",
            ignore: "If you did not ask for this, change your password and tell your administrator.",
        },
        MailLanguage::Ko => &Texts {
            subject: "MFA 이메일을 인증해 주세요",
            heading: "MFA 이메일 인증",
            greeting: "안녕하세요",
            intro: "다단계 인증 변경을 확인하려면 아래 코드를 입력해 주세요:",
            note: "이 코드는 5분 동안 한 번만 사용할 수 있습니다.",
            ignore: "요청하지 않으셨다면 비밀번호를 변경하고 관리자에게 알려 주세요.",
        },
        MailLanguage::Ja => &Texts {
            subject: "MFAメールアドレスを確認してください",
            heading: "MFAメールアドレスの確認",
            greeting: "こんにちは",
            intro: "多要素認証の変更を確認するには、次のコードを入力してください:",
            note: "このコードの有効期限は5分で、一度だけ使用できます。",
            ignore: "お心当たりがない場合は、パスワードを変更して管理者に連絡してください。",
        },
    }
}

pub fn temporary_password(lang: MailLanguage) -> &'static Texts {
    match lang {
        MailLanguage::En => &Texts {
            subject: "Your password has been changed",
            heading: "Your password has been changed",
            greeting: "Hello",
            intro: "Your account has a new temporary password:",
            note: "Sign in with it; you will be asked to choose a new password right away.",
            ignore: "If you did not expect this, tell your administrator.",
        },
        MailLanguage::Ko => &Texts {
            subject: "비밀번호가 변경되었습니다",
            heading: "비밀번호가 변경되었습니다",
            greeting: "안녕하세요",
            intro: "계정에 새 임시 비밀번호가 설정되었습니다:",
            note: "이 비밀번호로 로그인하면 바로 새 비밀번호를 설정하게 됩니다.",
            ignore: "예상하지 못한 메일이라면 관리자에게 알려 주세요.",
        },
        MailLanguage::Ja => &Texts {
            subject: "パスワードが変更されました",
            heading: "パスワードが変更されました",
            greeting: "こんにちは",
            intro: "アカウントに新しい仮パスワードが設定されました:",
            note: "このパスワードでサインインすると、すぐに新しいパスワードの設定を求められます。",
            ignore: "心当たりがない場合は、管理者に連絡してください。",
        },
    }
}
